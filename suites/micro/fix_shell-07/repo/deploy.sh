#!/usr/bin/env bash
A=11
B=28
echo $((A - B))
