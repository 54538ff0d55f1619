#!/usr/bin/env bash
# Builds every fuzz target and runs each for a short time with the dictionary and the
# seed corpus. Any crash, leak, timeout or out-of-memory fails the script (libFuzzer exits
# non-zero and leaves the input in fuzz/artifacts/<target>/).
#
# Usage: fuzz/run-ci.sh [SECONDS_PER_TARGET]   (default 30; FUZZ_SECONDS works too)
# Needs the nightly toolchain (rustup toolchain `nightly`); installs cargo-fuzz if missing.
set -euo pipefail

cd "$(dirname "$0")"
SECONDS_PER_TARGET="${1:-${FUZZ_SECONDS:-30}}"
TARGETS=(reply_parser capabilities client_session body_framing constructors mx_parsers)

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

echo "fuzz: building ${#TARGETS[@]} targets"
cargo +nightly fuzz build

# The run adds new inputs to corpus/<target>/ (ignored by git); a scratch copy keeps the
# checkout clean and every CI run starting from the committed seeds.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failed=()
for t in "${TARGETS[@]}"; do
    mkdir -p "$work/$t"
    cp corpus/"$t"/seed-* "$work/$t"/
    echo "fuzz: $t for ${SECONDS_PER_TARGET}s"
    # -rss_limit_mb and -timeout: a slow or memory-hungry input is a failure too.
    if cargo +nightly fuzz run "$t" "$work/$t" -- \
        -dict=dict/smtp.dict \
        -max_total_time="$SECONDS_PER_TARGET" \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -print_final_stats=1 >"$work/$t.log" 2>&1; then
        # The figures: runs, exec/s and the final coverage (cov/ft) line.
        { grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec)' \
            "$work/$t.log"; grep -E '#[0-9]+[[:space:]]+DONE' "$work/$t.log" | tail -n 1; } |
            sed "s/^/fuzz: $t: /" || true
    else
        echo "fuzz: $t FAILED; the end of its log:"
        tail -n 60 "$work/$t.log"
        ls artifacts/"$t"/ 2>/dev/null | sed "s|^|fuzz: artifact fuzz/artifacts/$t/|"
        failed+=("$t")
    fi
done

if ((${#failed[@]})); then
    echo "fuzz: FAILED: ${failed[*]}"
    exit 1
fi
echo "fuzz: all ${#TARGETS[@]} targets ran ${SECONDS_PER_TARGET}s without a crash"
