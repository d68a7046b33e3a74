#!/usr/bin/env bash
ech "Visit Dublin"
