"""The repository as a whole: standard library only, no import circle in labs/, every script's --help fits
80 columns and imports each file once, every port flag refuses what is no port, files short enough to project,
and the imports the lab READMEs show really run."""
import ast
import difflib
import os
import re
import subprocess
import sys
import unittest
from concurrent.futures import ThreadPoolExecutor

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
            and ("ArgumentParser(" in path.read_text(encoding="utf-8") or path.name == "coordinator.py")]


HELPS = {}


def helps(found):
    """What `python SCRIPT --help` printed for each script in an 80-column terminal (on stderr: its imports,
    -X importtime); asked once per script for the whole file, four at a time."""
    def ask(script):
        return subprocess.run([sys.executable, "-X", "importtime", str(script), "--help"], cwd=ROOT,
                              capture_output=True, text=True, timeout=30, env=dict(os.environ, COLUMNS="80"))
    new = [script for script in found if script not in HELPS]
    with ThreadPoolExecutor(4) as pool:
        HELPS.update(zip(new, pool.map(ask, new)))
    return [HELPS[script] for script in found]


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

    def test_every_script_answers_help_within_80_columns_and_imports_each_file_once(self):
        found = scripts()
        self.assertIn(LABS / "distributed-kvstore/node.py", found)
        for script, result in zip(found, helps(found)):
            with self.subTest(script=str(script.relative_to(ROOT))):
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


class PromptHelpTest(unittest.TestCase):
    def test_every_prompt_command_s_help_fits_80_columns(self):
        program = ("import sys; sys.path[:0] = ['.', 'labs/distributed-kvstore']\n"
                   "from prompt import KVStorePrompt\nfrom labs.replication.prompt import Prompt\n"
                   "for cls in (Prompt, KVStorePrompt):\n"
                   "    for name in dir(cls):\n"
                   "        if name.startswith('do_') and name != 'do_EOF':\n"
                   "            print(getattr(cls, name).__doc__)\n")
        result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertGreater(len(result.stdout.splitlines()), 8)
        self.assertEqual([line for line in result.stdout.splitlines() if len(line) > 80], [])


class PortFlagsTest(unittest.TestCase):
    def test_every_port_flag_of_every_script_refuses_what_is_no_port_in_one_line_and_exit_code_2(self):
        found = scripts()
        flags = {script: sorted(set(re.findall(r"(--[a-z-]*port) [A-Z_]+", result.stdout)))
                 for script, result in zip(found, helps(found))}  # as --help lists them: --base-port BASE_PORT
        self.assertEqual(flags[LABS / "distributed-kvstore/coordinator.py"],
                         ["--base-port", "--gateway-port", "--port", "--registry-port"])
        self.assertEqual(flags[LABS / "scalability/node.py"], ["--port"])
        cases = [(script, flag, value) for script in found for flag in flags[script] for value in ("99999", "-1")]
        with ThreadPoolExecutor(4) as pool:  # each exits at argument parsing: only its imports take time
            results = list(pool.map(lambda case: run(case[0], case[1], case[2], timeout=30), cases))
        for (script, flag, value), result in zip(cases, results):
            with self.subTest(script=str(script.relative_to(ROOT)), flag=flag, value=value):
                self.assertEqual(result.returncode, 2)
                self.assertNotIn("Traceback", result.stderr)
                self.assertEqual(re.findall(r"^.*error.*$", result.stderr, re.M),
                                 [f"{script.name}: error: argument {flag}: '{value}' is not a port from 1 "
                                  f"to 65535"])


class ShortFilesTest(unittest.TestCase):
    def test_every_file_in_labs_is_at_most_250_lines(self):
        lengths = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in lab_files()}
        over = [f"{path.relative_to(ROOT)}: {count} lines" for path, count in lengths.items() if count > MAX_LINES]
        self.assertEqual(over, [], f"over {MAX_LINES} lines")


class ReadingListTest(unittest.TestCase):
    """Each lab README's "Read these" table: the line counts it quotes are true, and they add up to at most
    400. A file copied from workshop step 01 counts its diff lines (every line removed or added)."""

    def test_every_count_in_a_read_these_table_is_true_and_each_list_is_at_most_400_lines(self):
        for readme in sorted(LABS.glob("*/README.md")):
            rows = re.findall(r"^\| `([\w.]+)` \| (\d+)(?: changed of (\d+))? \|", readme.read_text(), re.M)
            self.assertGreaterEqual(len(rows), 2, readme)
            total = 0
            for name, count, of in rows:
                lines = (readme.parent / name).read_text(encoding="utf-8").splitlines()
                with self.subTest(readme=readme.parent.name, file=name):
                    self.assertEqual(int(of or count), len(lines))
                    origin = ROOT / "workshop_materials" / "01_nodes" / name
                    if of and origin.is_file():
                        self.assertEqual(int(count), diff_lines(origin.read_text().splitlines(), lines))
                total += int(count)
            self.assertLessEqual(total, 400, readme)


def diff_lines(old, new):
    """How many lines a diff from old to new shows, each removed and each added line: the larger of what `diff`
    and difflib's unified diff count (they match lines differently)."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    exact = sum(i2 - i1 + j2 - j1 for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")
    unified = sum(line[:1] in "+-" and line[:3] not in ("+++", "---")
                  for line in difflib.unified_diff(old, new, lineterm="", n=0))
    return max(exact, unified)


class ReadmeImportsTest(unittest.TestCase):
    def test_every_import_line_in_a_lab_readme_runs(self):
        readmes = sorted(LABS.glob("*/README.md"))
        self.assertGreaterEqual(len(readmes), 3)
        lines = [(readme, line) for readme in readmes for line in code_lines(readme) if imports_ours(line, readme)]
        if not lines:
            self.skipTest("no lab README shows an import of the labs' code")
        for readme, line in lines:
            with self.subTest(readme=str(readme.relative_to(ROOT)), line=line):
                # as a script beside the README runs it: the repository root and the README's folder on the path
                program = f"import sys\nsys.path[:0] = [{str(ROOT)!r}, {str(readme.parent)!r}]\n{line}"
                result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True,
                                        timeout=30)
                self.assertEqual(result.returncode, 0, result.stderr.strip().splitlines()[-1:])


def imports_ours(line, readme):
    """True for `from X import ...` or `import X` where X is the labs package or a file beside the README."""
    match = re.match(r"(?:from|import) +([\w.]+)", line)
    first = match.group(1).split(".")[0] if match else ""
    return first == "labs" or bool(first) and (readme.parent / f"{first}.py").is_file()


def code_lines(readme):
    """The lines of a README's code: fenced blocks and blocks indented by four spaces (without their indent),
    and inline `code` elsewhere."""
    fenced = False
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced or line.startswith(("    ", "\t")):
            yield line.strip()
        else:
            yield from (code.strip() for code in re.findall(r"`([^`]+)`", line))


if __name__ == "__main__":
    unittest.main()
