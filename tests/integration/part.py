"""Runs one part of a test module, so that ctest can run the parts of a long module side by side.

usage: python3 part.py MODULE I N   (part I of N, 1-based)

The module's test classes are dealt out to the parts in order (class 1 to part 1, class 2 to
part 2, ...): a class stays whole, its setUpClass (a lab, servers, an agent) runs once. A module
with a single class is dealt out by test instead. Every test of the module is in exactly one
part, whatever is added to it later; a part that gets no test fails, so a wrong N shows.
"""
import sys
import unittest


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


def main():
    if len(sys.argv) != 4 or not sys.argv[2].isdigit() or not sys.argv[3].isdigit():
        sys.exit(__doc__.split("\n\n")[1])
    module, i, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if not 1 <= i <= n:
        sys.exit(f"part {i} of {n}: I must be from 1 to N")
    tests = list(flatten(unittest.defaultTestLoader.loadTestsFromName(module)))
    groups = {}
    for t in tests:  # in the loader's order: classes, then tests, by name
        groups.setdefault(type(t), []).append(t)
    if len(groups) == 1:
        groups = {t.id(): [t] for t in tests}
    mine = [t for j, g in enumerate(groups.values()) if j % n == i - 1 for t in g]
    if not mine:
        sys.exit(f"{module}: part {i} of {n} has no test ({len(groups)} groups)")
    print(f"{module}, part {i} of {n}: " + ", ".join(t.id().split(".", 1)[1] for t in mine))
    result = unittest.TextTestRunner(verbosity=2).run(unittest.TestSuite(mine))
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
