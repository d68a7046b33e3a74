#!/usr/bin/env bash
ech "Visit Paris"
