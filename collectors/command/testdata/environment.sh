#!/bin/sh
# Prints its whole environment and working directory as key=value lines (what the child really gets).
echo "directory=$(pwd)"
echo "variables=$(env | grep -c '=')"
env | sort
