#!/bin/sh
# Prints far more than it should (200000 bytes).
head -c 200000 /dev/zero | tr '\0' 'x'
