"""One module per input format: parse → records + row errors. No database here."""
