# Layanan Warga Duren Sawit: `make run` to chat with the bot, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BABEL_KEYWORDS := -k N_ -k pgettext:1c,2
CATALOGS := $(wildcard locales/*/LC_MESSAGES/messages.po)

.PHONY: run test lint format install seed-demo reset-demo extract update-catalogs compile-catalogs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: install, migrate, seed the demo into an empty database, start the bot
run: $(STAMP)
	$(BIN)/python -m bot seed-demo
	$(BIN)/python -m bot run

## test: lint and the whole test suite (PostgreSQL too when TEST_DATABASE_URL is set)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

seed-demo: $(STAMP)
	$(BIN)/python -m bot seed-demo

## reset-demo: erase ALL data and seed the demo again (as the demo's admin, or STAFF_LOGIN)
reset-demo: $(STAMP)
	$(BIN)/python -m bot reset-demo --yes --as $${STAFF_LOGIN:-admin}

## catalogs: extract the messages, merge them into id and en, compile
extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --add-comments=TRANSLATORS: \
		--no-location --sort-output --project="Layanan Warga Duren Sawit" \
		-o locales/messages.pot .

update-catalogs: extract
	$(BIN)/pybabel update -i locales/messages.pot -d locales \
		--ignore-obsolete --no-fuzzy-matching --width=99

compile-catalogs: $(STAMP)
	$(BIN)/pybabel compile -d locales --statistics

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
