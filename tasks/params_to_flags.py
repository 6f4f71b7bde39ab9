# PARAMS TO FLAGS PY
# Turns a task's PARAMS JSON into command-line flags for model scripts in
# the CANDLE style, one argv word per line: `--name` then its value (a
# string value with spaces, e.g. layer sizes "1000 1000", gives one word
# per size).
#   params_to_flags.py PARAMS_JSON

import json
import sys


def flags(params: dict) -> list[str]:
    """[--name, value, ...] with lists space-separated as CANDLE expects."""
    words: list[str] = []
    for name, value in params.items():
        words.append(f"--{name}")
        words.extend(str(value).split() if isinstance(value, str) else [json.dumps(value)])
    return words


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: params_to_flags.py PARAMS_JSON", file=sys.stderr)
        return 2
    for word in flags(json.loads(argv[1])):
        print(word)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
