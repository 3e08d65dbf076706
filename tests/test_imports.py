"""Python standard library only: every import in every .py file is stdlib or the project's own
(a package at the root, or a .py file anywhere in the repository: scripts import their neighbours)."""
import ast
import sys
import unittest

from tests.helpers import ROOT


def top_level_imports(path):
    """The first part of every absolute module name that the file imports."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


class StandardLibraryOnlyTest(unittest.TestCase):
    @unittest.skipUnless(hasattr(sys, "stdlib_module_names"), "needs Python 3.10+ to list the standard library")
    def test_every_import_is_stdlib_or_project(self):
        files = [path for path in ROOT.rglob("*.py") if ".git" not in path.parts]
        self.assertGreater(len(files), 5)
        project = {path.stem for path in files} | {path.parent.name for path in ROOT.glob("*/__init__.py")}
        outside = [f"{path.relative_to(ROOT)} imports {name}"
                   for path in files for name in top_level_imports(path)
                   if name not in sys.stdlib_module_names and name not in project]
        self.assertEqual(outside, [])


if __name__ == "__main__":
    unittest.main()
