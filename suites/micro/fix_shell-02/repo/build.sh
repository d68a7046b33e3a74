#!/usr/bin/env bash
A=6
B=14
echo $((A - B))
