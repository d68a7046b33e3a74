#!/usr/bin/env bash
A=4
B=27
echo $((A - B))
