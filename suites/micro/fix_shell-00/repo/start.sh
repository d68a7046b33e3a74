#!/usr/bin/env bash
A=11
B=4
echo $((A - B))
