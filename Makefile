# truceline: `make run` serves the demo centre, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
VENDOR := truceline/web/static/vendor
DEMO_DB := sqlite:///demo.db
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: install run test lint bench clean browser messages fonts

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Browser libraries from npm, copied into the package: served locally, never from a CDN.
$(VENDOR)/.copied: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)/leaflet/images $(VENDOR)/swagger-ui $(VENDOR)/world-atlas
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css $(VENDOR)/leaflet/
	cp node_modules/leaflet/dist/images/* $(VENDOR)/leaflet/images/
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/topojson-client/dist/topojson-client.min.js $(VENDOR)/
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/
	cp node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/swagger-ui-bundle.js $(VENDOR)/swagger-ui/
	cp node_modules/world-atlas/countries-50m.json $(VENDOR)/world-atlas/
	touch $@

install: $(STAMP) $(VENDOR)/.copied fonts

# DejaVu fonts (Cyrillic and Turkish letters) for the PDF reports, from Debian where missing.
fonts:
	@test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || \
	  (apt-get update -q >/dev/null && apt-get install -y -q fonts-dejavu-core >/dev/null)

# The main job: build the illustrative demo centre into demo.db (once) and serve it at
# http://127.0.0.1:8000 (PORT=, HOST= to change), printing the demo accounts.
run: install
	$(BIN)/truceline demo --days 7 --serve --host $(HOST) --port $(PORT) --db $(DEMO_DB)

lint: install
	$(BIN)/ruff check truceline tests bench
	$(BIN)/ruff format --check truceline tests bench
	$(BIN)/mypy truceline

# Debian's chromium for the browser tests (Playwright drives it; it downloads no browser),
# Mosquitto (a feed test starts a broker of its own, sized for a long outage), poppler's
# pdftotext (the PDF reports' tests read them) and GDAL's ogrinfo (the exports open in it).
browser:
	@command -v chromium >/dev/null 2>&1 || \
	  (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)
	@command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto || \
	  (apt-get update -q >/dev/null && apt-get install -y -q mosquitto >/dev/null)
	@command -v pdftotext >/dev/null 2>&1 || \
	  (apt-get update -q >/dev/null && apt-get install -y -q poppler-utils >/dev/null)
	@command -v ogrinfo >/dev/null 2>&1 || \
	  (apt-get update -q >/dev/null && apt-get install -y -q gdal-bin >/dev/null)

# The whole suite, on SQLite and on PostgreSQL (TRUCELINE_TEST_PG_URL, default: the local server).
test: lint browser
	$(BIN)/python -m pytest -n 2 -q -p no:warnings

# Long runs. PostGIS (for a peer figure) is installed from Debian's packages where possible.
bench: install
	-@dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || \
	  (command -v apt-get >/dev/null && apt-get install -y -q postgresql-15-postgis-3 >/dev/null 2>&1) || \
	  echo "PostGIS could not be installed; its peer figure is skipped"
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/compliance.py
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/api.py --db postgresql+psycopg://postgres@127.0.0.1:5432/
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/feeds.py
	$(BIN)/python bench/report.py

# The gettext catalogs: every message of the source extracted, and the ru and tr catalogs
# brought up to date (new messages then wait for their translation: a test names them).
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k gettext -k ngettext:1,2 -k n_:1,2 -k M -k Mn:1,2 --no-location \
	  --sort-output --omit-header -o truceline/i18n/truceline.pot .
	$(BIN)/pybabel update -D truceline -i truceline/i18n/truceline.pot -d truceline/i18n \
	  --no-fuzzy-matching --ignore-obsolete -w 100

clean:
	rm -rf $(VENV) node_modules $(VENDOR) demo.db demo.db-wal demo.db-shm demo-data bench-data .pytest_cache .mypy_cache .ruff_cache .hypothesis
