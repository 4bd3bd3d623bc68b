// The API's documentation page: Swagger UI on this server's own OpenAPI document.
window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});
