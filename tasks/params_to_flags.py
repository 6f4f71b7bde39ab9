# PARAMS TO FLAGS PY
# Turns a task's PARAMS JSON into command-line flags, one argv word per
# line (`--name` then `value`), for model scripts in the CANDLE style; or,
# with --hash, prints a deterministic stand-in objective in [0, 1) derived
# from a hash of the parameters (for DRYRUN).
#   params_to_flags.py [--hash] PARAMS_JSON

import hashlib
import json
import sys


def flags(params: dict) -> list[str]:
    """[--name, value, ...] with lists space-separated as CANDLE expects."""
    words: list[str] = []
    for name, value in params.items():
        words.append(f"--{name}")
        words.extend(str(value).split() if isinstance(value, str) else [json.dumps(value)])
    return words


def stand_in(params: dict) -> float:
    """A value in [0, 1) from the sha256 of the canonical JSON of the point."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "--hash":
        print(repr(stand_in(json.loads(argv[2]))))
        return 0
    if len(argv) != 2:
        print("usage: params_to_flags.py [--hash] PARAMS_JSON", file=sys.stderr)
        return 2
    for word in flags(json.loads(argv[1])):
        if "\n" in word:
            print(f"params_to_flags.py: error: a value holds a newline: {word!r}", file=sys.stderr)
            return 2
        print(word)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
