#!/usr/bin/env bash
A=19
B=2
echo $((A - B))
