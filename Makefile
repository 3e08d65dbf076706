# Every target is one python command (demo: the three demos); the README lists them for people without make.
PYTHON ?= python3

.PHONY: demo test check student solution doctor clean demo-scalability bench-scalability demo-replication demo-kvstore

# the three labs' scripted demos, one after the other
demo: demo-scalability demo-replication demo-kvstore

demo-scalability:
	$(PYTHON) labs/scalability/demo.py

bench-scalability:
	$(PYTHON) labs/scalability/bench.py

demo-replication:
	$(PYTHON) labs/replication/coordinator.py --script labs/replication/demo.txt

demo-kvstore:
	$(PYTHON) labs/distributed-kvstore/coordinator.py --write-quorum 2 --script labs/distributed-kvstore/demo.txt

test:
	$(PYTHON) -m tests

# a failing check, or a refusal, ends with our own line: never with make's "Error 1" after it
check:
	@$(PYTHON) labs/check.py $(LAB) || true

doctor:
	@$(PYTHON) labs/doctor.py || true

student:
	@$(PYTHON) -m labs.plumbing.exercises $(DEST) || true

solution:
	@$(PYTHON) -m labs.plumbing.exercises --solution $(EX) $(DEST) || true

clean:
	$(PYTHON) -c "import pathlib, shutil; [shutil.rmtree(p) for p in [*pathlib.Path('.').rglob('__pycache__'), *pathlib.Path('labs').glob('*/logs')]]"
