"""The repository as a whole: standard library only, no import circle in labs/, files short enough
to project, every port flag refuses what is no port, and the imports the lab READMEs show really run."""
import ast
import os
import re
import subprocess
import sys
import unittest
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.helpers import ROOT, run

LABS = ROOT / "labs"
MAX_LINES = 250  # one screen or two on a projector; STYLE.md: aim under 200, over 300 needs a reason


def top_level_imports(path):
    """The first part of every absolute module name that the file imports."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


def lab_files():
    return sorted(path for path in LABS.rglob("*.py") if "__pycache__" not in path.parts)


def imported_files(path):
    """The files under labs/ that path imports: labs.x.y is labs/x/y.py (or its package), a bare name
    is a file beside the script (its folder is sys.path[0] when it runs)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            candidates = [ROOT.joinpath(*parts).with_suffix(".py")] if parts[0] == "labs" else \
                [path.parent / f"{name}.py"] if len(parts) == 1 else []
            found.update(candidate for candidate in candidates if candidate.is_file())
    return found


def scripts():
    """The files under labs/ that run as scripts with argparse (and so answer --help without starting anything)."""
    return [path for path in lab_files() if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8")
            and "ArgumentParser(" in path.read_text(encoding="utf-8")]


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


class ImportsTest(unittest.TestCase):
    def test_no_import_circle_in_labs(self):
        graph = {path: imported_files(path) for path in lab_files()}
        self.assertIn(LABS / "distributed-kvstore/gateway.py", graph[LABS / "distributed-kvstore/node.py"])
        circles, done = [], set()

        def visit(path, trail):
            if path in trail:
                circles.append(" -> ".join(str(p.relative_to(LABS)) for p in trail[trail.index(path):] + [path]))
                return
            if path in done:
                return
            for imported in sorted(graph.get(path, ())):
                visit(imported, trail + [path])
            done.add(path)
        for path in graph:
            visit(path, [])
        self.assertEqual(circles, [])

    def test_the_gateway_is_a_module_only(self):
        gateway = LABS / "distributed-kvstore/gateway.py"
        tree = ast.parse(gateway.read_text(encoding="utf-8"))
        self.assertNotIn("main", [node.name for node in tree.body if isinstance(node, ast.FunctionDef)])
        self.assertNotIn('__name__ == "__main__"', gateway.read_text(encoding="utf-8"))

    def test_every_script_answers_help_and_imports_each_file_once(self):
        found = scripts()
        self.assertIn(LABS / "distributed-kvstore/node.py", found)
        for script in found:
            with self.subTest(script=str(script.relative_to(ROOT))):
                result = subprocess.run([sys.executable, "-X", "importtime", str(script), "--help"], cwd=ROOT,
                                        capture_output=True, text=True, timeout=30, env=dict(os.environ, COLUMNS="80"))
                self.assertEqual(result.returncode, 0, result.stderr[-2000:])
                self.assertIn("usage:", result.stdout)
                self.assertEqual([line for line in result.stdout.splitlines() if len(line) > 80], [])
                modules = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", result.stderr, re.M)
                files = [self.file_of(module, script) for module in modules]
                files = [file for file in files if file] + [script]  # the script itself runs as __main__
                twice = sorted({str(file.relative_to(ROOT)) for file in files if files.count(file) > 1})
                self.assertEqual(twice, [], "imported under two names")

    @staticmethod
    def file_of(module, script):
        """The file under labs/ that a module name imported while running script stands for, else None."""
        parts = module.split(".")
        candidates = [script.parent / f"{module}.py"] if len(parts) == 1 else []
        if parts[0] == "labs":
            candidates += [ROOT.joinpath(*parts).with_suffix(".py"), ROOT.joinpath(*parts, "__init__.py")]
        return next((candidate for candidate in candidates if candidate.is_file()), None)


class PortFlagsTest(unittest.TestCase):
    PORT_FLAGS = [("labs/scalability/node.py", "--port"), ("labs/replication/node.py", "--port"),
                  ("labs/distributed-kvstore/node.py", "--port"), ("labs/distributed-kvstore/registry.py", "--port"),
                  ("labs/replication/coordinator.py", "--port"), ("labs/distributed-kvstore/coordinator.py", "--port"),
                  ("labs/scalability/bench.py", "--port"), ("labs/replication/bench.py", "--base-port"),
                  ("labs/distributed-kvstore/bench.py", "--port")]

    def test_a_port_outside_1_to_65535_is_one_clear_line_and_exit_code_2(self):
        cases = [(script, flag, value) for script, flag in self.PORT_FLAGS for value in ("99999", "-1")]
        with ThreadPoolExecutor(4) as pool:  # each exits at argument parsing: only its imports take time
            results = pool.map(lambda case: run(case[0], case[1], case[2], timeout=30), cases)
        for (script, flag, value), result in zip(cases, results):
            with self.subTest(script=script, value=value):
                self.assertEqual(result.returncode, 2)
                self.assertNotIn("Traceback", result.stderr)
                self.assertEqual(re.findall(r"^.*error.*$", result.stderr, re.M),
                                 [f"{Path(script).name}: error: argument {flag}: '{value}' is not a port from 1 "
                                  f"to 65535"])


class ShortFilesTest(unittest.TestCase):
    def test_every_file_in_labs_is_at_most_250_lines(self):
        lengths = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in lab_files()}
        over = [f"{path.relative_to(ROOT)}: {count} lines" for path, count in lengths.items() if count > MAX_LINES]
        self.assertEqual(over, [], f"over {MAX_LINES} lines")


class ReadmeImportsTest(unittest.TestCase):
    def test_every_import_line_in_a_lab_readme_runs(self):
        readmes = sorted(LABS.glob("*/README.md"))
        self.assertGreaterEqual(len(readmes), 3)
        lines = [(readme, line) for readme in readmes for line in code_lines(readme)
                 if line.startswith(("from labs.", "import labs"))]
        self.assertTrue(lines, "the READMEs show no import of labs at all")
        for readme, line in lines:
            with self.subTest(readme=str(readme.relative_to(ROOT)), line=line):
                program = f"import sys\nsys.path.insert(0, {str(ROOT)!r})  # the repository root\n{line}"
                result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True,
                                        timeout=30)
                self.assertEqual(result.returncode, 0, result.stderr.strip().splitlines()[-1:])


def code_lines(readme):
    """The lines of a README's code blocks (fenced, or indented by four spaces), without their indent."""
    fenced = False
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            yield line.strip()
        elif line.startswith(("    ", "\t")):
            yield line.strip()


if __name__ == "__main__":
    unittest.main()
