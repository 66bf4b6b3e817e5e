#!/usr/bin/env bash
# The README's component reference must equal `ledgerfl list --markdown`.
# Usage: readme_reference.sh LEDGERFL README [--update]
set -euo pipefail
exe=$1 readme=$2
begin='<!-- BEGIN GENERATED REFERENCE -->'
end='<!-- END GENERATED REFERENCE -->'
generated=$("$exe" list --markdown)
current=$(sed -n "/^$begin\$/,/^$end\$/p" "$readme" | sed '1d;$d')
if [ "${3:-}" = "--update" ]; then
  tmp=$(mktemp)
  {
    sed -n "1,/^$begin\$/p" "$readme"
    printf '%s\n' "$generated"
    sed -n "/^$end\$/,\$p" "$readme"
  } > "$tmp"
  mv "$tmp" "$readme"
  echo "updated the component reference in $readme"
  exit 0
fi
if [ "$generated" != "$current" ]; then
  echo "README.md's component reference is out of date; run: make docs" >&2
  diff <(printf '%s\n' "$current") <(printf '%s\n' "$generated") | head -40 >&2
  exit 1
fi
echo "README reference up to date"
