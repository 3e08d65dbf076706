# Every target is one python command; the README lists them for people without make.
PYTHON ?= python3

.PHONY: demo test clean

demo:
	$(PYTHON) workshop_materials/02_load_balancing/demo.py

test:
	$(PYTHON) -m tests

clean:
	$(PYTHON) -c "import pathlib, shutil; [shutil.rmtree(p) for p in pathlib.Path('.').rglob('__pycache__')]"
