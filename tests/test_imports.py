"""Python standard library only: every import in every .py file is stdlib or the project's own."""
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


def is_project_module(name, path):
    """A package at the repository root, or a .py file beside this one or in a neighbouring folder
    (a workshop step imports its own files and earlier steps' files)."""
    return (ROOT / name / "__init__.py").exists() or (path.parent / f"{name}.py").exists() or \
        any((folder / f"{name}.py").exists() for folder in path.parent.parent.iterdir() if folder.is_dir())


class StandardLibraryOnlyTest(unittest.TestCase):
    @unittest.skipUnless(hasattr(sys, "stdlib_module_names"), "needs Python 3.10+ to list the standard library")
    def test_every_import_is_stdlib_or_project(self):
        files = [path for path in ROOT.rglob("*.py") if ".git" not in path.parts]
        self.assertGreater(len(files), 5)
        outside = [f"{path.relative_to(ROOT)} imports {name}"
                   for path in files for name in top_level_imports(path)
                   if name not in sys.stdlib_module_names and not is_project_module(name, path)]
        self.assertEqual(outside, [])


if __name__ == "__main__":
    unittest.main()
