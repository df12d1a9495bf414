# Convenience wrappers; tasks.py needs nothing but Python 3.11+.
.PHONY: demo test evaluation
demo:
	python3 tasks.py demo
test:
	python3 tasks.py test
evaluation:
	python3 tasks.py evaluation
