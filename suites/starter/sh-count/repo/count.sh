#!/bin/bash
wc -l < date.txt
