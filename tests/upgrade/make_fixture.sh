#!/usr/bin/env bash
# Makes the upgrade fixture of a release with the code AT that release (not the working tree):
# extracts the commit with `git archive`, builds and runs the generator there
# (tests/upgrade/make_fixture.rs) and stores the result in tests/fixtures/upgrade/<label>/.
#
#   bash tests/upgrade/make_fixture.sh <commit> <label>
#   bash tests/upgrade/make_fixture.sh 58af31b v0.1.0-58af31b
#
# A commit made before the generator existed gets this working tree's generator copied in (it
# reaches the data only through the api, so it builds against that release's crates).
# Changes nothing in the working tree but the new fixture folder; runs no git command that
# writes.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 <commit> <label>   (e.g. $0 58af31b v0.1.0-58af31b)" >&2
  exit 2
fi
repo="$(cd "$(dirname "$0")/../.." && pwd)"
commit="$(git -C "$repo" rev-parse --verify "$1^{commit}")"
short="$(git -C "$repo" rev-parse --short "$commit")"
label="$2"
dest="$repo/tests/fixtures/upgrade/$label"
if [ -e "$dest" ]; then
  echo "$dest exists already: a release's fixture is made once and never regenerated" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
src="$work/src"
mkdir -p "$src"
git -C "$repo" archive "$commit" | tar -x -C "$src"
if [ ! -f "$src/tests/upgrade/make_fixture.rs" ]; then
  echo "$short has no generator: using this working tree's" >&2
  mkdir -p "$src/tests/upgrade"
  cp "$repo/tests/upgrade/make_fixture.rs" "$repo/tests/upgrade/records.rs" "$src/tests/upgrade/"
  printf '\n[[example]]\nname = "make_upgrade_fixture"\npath = "upgrade/make_fixture.rs"\n' \
    >>"$src/tests/Cargo.toml"
fi

# A target directory of its own, never the working tree's: cargo names a workspace crate's
# build by its path inside the workspace, so the release's guanmo-domain and the working tree's
# would share one artifact, and with the archive's old file times the working tree's newer build
# would count as fresh here (or this one there). Kept between runs for the dependencies; the
# extracted files are touched so the release's own crates always build from its sources.
find "$src" -exec touch {} +
(
  cd "$src"
  CARGO_TARGET_DIR="${UPGRADE_FIXTURE_TARGET_DIR:-$repo/target/upgrade-fixture}" \
    cargo run --locked -p guanmo-tests --example make_upgrade_fixture -- "$work/out" "$label"
)

schema="$(sed -n 's/^  "schema_version": \([0-9]*\),$/\1/p' "$work/out/expected.json")"
cat >"$work/out/README.md" <<EOF
# Upgrade fixture $label

The data folder release \`$label\` leaves after a tour, at schema version $schema (migrations
0001–$(printf '%04d' "$schema")), made by the code of commit \`$commit\` with:

\`\`\`
bash tests/upgrade/make_fixture.sh $short $label
\`\`\`

- \`data/\`: the data folder as the app lays it out (\`guanmo.sqlite3\`, \`objects/\`), closed
  cleanly (no \`-wal\` or \`-shm\`).
- \`expected.json\`: what the generator made and what the api showed of it at that release
  (\`snapshot\`), row counts per table, the PINs of the people who have one, and a few key
  values named by \`tests/scenarios/upgrade.rs\`.

Never edit or regenerate it: it stands for the data folders that release left on laptops.
EOF
mkdir -p "$(dirname "$dest")"
cp -R "$work/out" "$dest"
echo "fixture of $label ($short) stored in ${dest#"$repo"/}: $(du -sh "$dest" | cut -f1)"
