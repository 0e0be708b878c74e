# Sourced by the bench scripts. setting NAME DEFAULT prints $GQAFORGE_NAME when set, else the
# older spelling $GQF_NAME (with a one-line deprecation note on stderr), else DEFAULT.
setting() {
  local new="GQAFORGE_$1" old="GQF_$1"
  if [ -n "${!new:-}" ]; then
    printf '%s' "${!new}"
  elif [ -n "${!old:-}" ]; then
    echo "note: $old is deprecated; set $new instead" >&2
    printf '%s' "${!old}"
  else
    printf '%s' "${2:-}"
  fi
}
