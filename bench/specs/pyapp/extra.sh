#!/bin/sh
# the service's own code (changes a little), a fixtures layer that does not change,
# and a config layer that changes a little
ver=$1; ctx=$2
mkdir -p "$ctx/code/srv/app/pyapp" "$ctx/fixtures/srv/fixtures" "$ctx/conf/etc/pyapp"
timeout=30; [ "$ver" = v2 ] && timeout=45
cat > "$ctx/code/srv/app/pyapp/__init__.py" <<PY
"""Small Flask service over SQLAlchemy, release $ver."""
import os
from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

RELEASE = "$ver"
TIMEOUT = $timeout

def create_app():
    app = Flask(__name__)
    engine = create_engine(os.environ.get("DATABASE_URL", "postgresql://app@db/app"))

    @app.get("/health")
    def health():
        return jsonify(status="ok", release=RELEASE)

    @app.get("/items")
    def items():
        limit = min(int(request.args.get("limit", 50)), 500)
        with engine.connect() as c:
            rows = c.execute(text("select id, name from items limit :n"), {"n": limit})
            return jsonify([dict(r._mapping) for r in rows])
PY
if [ "$ver" = v2 ]; then cat >> "$ctx/code/srv/app/pyapp/__init__.py" <<'PY'

    @app.get("/items/<int:item_id>")
    def item(item_id):
        with engine.connect() as c:
            row = c.execute(text("select id, name from items where id = :i"), {"i": item_id}).first()
            return (jsonify(dict(row._mapping)), 200) if row else (jsonify(error="not found"), 404)
PY
fi
echo '    return app' >> "$ctx/code/srv/app/pyapp/__init__.py"
printf 'from pyapp import create_app\napp = create_app()\n' > "$ctx/code/srv/app/wsgi.py"
[ -f "$ctx/fixtures/srv/fixtures/items.csv" ] || awk 'BEGIN{srand(11); for(i=0;i<150000;i++) printf "%d,item-%05x,%.2f\n", i, int(rand()*2^20), rand()*1000}' > "$ctx/fixtures/srv/fixtures/items.csv"
printf 'bind = "0.0.0.0:8000"\nworkers = 4\ntimeout = %s\n' "$timeout" > "$ctx/conf/etc/pyapp/gunicorn.conf.py"
echo 'COPY fixtures/ /'
echo 'COPY code/ /'
echo 'COPY conf/ /'
