#!/bin/sh
# A test that fails: a line on stdout, then stderr that ends with the secret token it was given, and exit code 3.
echo "partial output"
echo "connecting to the EventIndex server" >&2
echo "authentication with token $EI_TOKEN refused" >&2
exit 3
