#!/usr/bin/env bash
# Fetch the dashboard's vendored libraries again from npm (see vendor/README.md) and check
# that they are byte for byte the files the README's digests name. Needs npm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent htm@3.1.1 @supabase/supabase-js@2.119.0 >/dev/null
tar xzf htm-3.1.1.tgz && cp package/preact/standalone.module.js "$here/vendor/htm-preact-standalone.module.js" && rm -rf package
tar xzf supabase-supabase-js-2.119.0.tgz && cp package/dist/umd/supabase.js "$here/vendor/supabase.js"
cd "$here/vendor"
grep -o '`[a-z.-]*\.js` .*`[0-9a-f]\{64\}`' README.md | sed -E 's/^`([^`]+)`.*`([0-9a-f]{64})`$/\2  \1/' | sha256sum -c -
