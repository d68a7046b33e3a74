#!/usr/bin/env bash
NAME="Iris"
echo "Hello, $NAEM"
