#!/bin/sh
# key=value lines, with a comment, an empty line, spaces, a key given twice (the last wins) and a key nobody declares.
echo "# nightly build report"
echo "tests_run = 400"
echo ""
echo "tests_run=412"
echo "tests_failed=3"
echo "state=failed tests"
echo "compiler=gcc 14"
echo "ok=true"
