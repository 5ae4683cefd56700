"""The script PyInstaller freezes: `saliency-desktop` inside the bundle.

`--self-test` is answered here before the command line is parsed, so the bundle's self-test
does not depend on anything but `saliency_desktop.selftest` (cli.py answers it too, for pip
installs). Everything else is `saliency_desktop.cli.main`: the app by default, or a command.
"""

import sys


def run() -> int:
    if sys.argv[1:2] == ["--self-test"]:
        from saliency_desktop.selftest import main as self_test

        return self_test(sys.argv[2:])
    from saliency_desktop.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
