#!/usr/bin/env bash
ech "Visit Berlin"
