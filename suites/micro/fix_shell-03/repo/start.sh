#!/usr/bin/env bash
NAME="Hugo"
echo "Hello, $NAEM"
