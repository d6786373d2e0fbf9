#!/bin/sh
# Hangs: starts a child that would outlive it and writes the child's pid to $1, then waits forever.
sleep 300 &
echo $! > "$1"
echo "started child $!" >&2
wait
