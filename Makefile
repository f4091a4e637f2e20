# Two commands do all set-up on a fresh machine:
#   make run   - virtualenv, pinned requirements, migrated SQLite database, demo data, server
#   make test  - the same set-up, then the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
export FLASK_APP = wsgi.py

.PHONY: run test install db lint fmt translations bench bench-scale clean vendor

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(BIN)/activate

install: $(BIN)/activate

db: install
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo

run: db
	$(BIN)/flask run --host 127.0.0.1 --port 5000

# the suite runs in PYTEST_WORKERS processes (pytest-xdist); 0 runs it in one
PYTEST_WORKERS ?= 2

test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-extract UI strings and rebuild the Chinese catalog after editing messages.po;
# admin.po (Flask-Admin's messages it ships untranslated) is edited by hand and compiled too.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations -l zh_Hans_CN --no-fuzzy-matching
	$(BIN)/pybabel compile -d app/translations -D "messages admin"

# Apache ECharts for the dashboard, from the npm registry into our static folder (never a
# CDN); the version and checksum are noted in app/static/vendor/echarts/README.md
ECHARTS_VERSION ?= 6.1.0
vendor:
	rm -rf /tmp/yijia-echarts && mkdir -p /tmp/yijia-echarts
	cd /tmp/yijia-echarts && npm pack --silent echarts@$(ECHARTS_VERSION) && tar xzf echarts-$(ECHARTS_VERSION).tgz
	cp /tmp/yijia-echarts/package/dist/echarts.min.js /tmp/yijia-echarts/package/LICENSE \
	  /tmp/yijia-echarts/package/NOTICE app/static/vendor/echarts/
	sha256sum app/static/vendor/echarts/echarts.min.js

bench: install
	$(BIN)/python bench/list_queries.py

# a province's size on PostgreSQL (BENCH_SERVER, default postgresql://postgres@127.0.0.1:5432):
# loads 10,000 and 1,000,000 households (once; about 5 minutes), then times every page of
# issue 11 over HTTP (gunicorn, 2 workers) for the district admin and a street clerk, on
# both databases in turn (the ratio 1M/10k is the flatness)
BENCH_SERVER ?= postgresql://postgres@127.0.0.1:5432
bench-scale: install
	$(BIN)/python bench/scale_data.py --server $(BENCH_SERVER) --households 10000 --database yijia_scale_10k --if-missing
	$(BIN)/python bench/scale_data.py --server $(BENCH_SERVER) --households 1000000 --database yijia_scale_1m --if-missing
	$(BIN)/python bench/scale.py --server $(BENCH_SERVER) --database yijia_scale_1m --baseline yijia_scale_10k --gunicorn --throughput

clean:
	rm -rf $(VENV) instance .pytest_cache
