#!/usr/bin/env bash
A=16
B=8
echo $((A - B))
