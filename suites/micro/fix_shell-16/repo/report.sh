#!/usr/bin/env bash
A=28
B=4
echo $((A - B))
