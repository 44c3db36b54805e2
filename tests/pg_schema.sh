# Sourced by the test scripts that run patron on PostgreSQL: a schema of their own in a shared
# database, so runs never see each other's rows.
#
#   pg_schema_create PREFIX BASE_URL   makes the schema; sets PG_SCHEMA_URL (BASE_URL with
#                                      search_path set to it)
#   pg_schema_drop                     drops it again (safe to call when none was made)

PG_SCHEMA=""
PG_SCHEMA_BASE=""
PG_SCHEMA_URL=""

pg_schema_create() {
  command -v psql >/dev/null || { echo "psql is needed to make a schema in PATRON_TEST_DATABASE_URL" >&2; return 1; }
  PG_SCHEMA_BASE="$2"
  PG_SCHEMA="${1}_$(date +%s)_$$_$RANDOM"
  psql "$PG_SCHEMA_BASE" -qAt -v ON_ERROR_STOP=1 -c "CREATE SCHEMA $PG_SCHEMA" >/dev/null
  local sep='?'
  case "$PG_SCHEMA_BASE" in *\?*) sep='&' ;; esac
  PG_SCHEMA_URL="${PG_SCHEMA_BASE}${sep}options=-csearch_path%3D${PG_SCHEMA}"
}

pg_schema_drop() {
  if [ -n "$PG_SCHEMA" ]; then
    psql "$PG_SCHEMA_BASE" -qAt -v ON_ERROR_STOP=1 -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1 || true
  fi
}
