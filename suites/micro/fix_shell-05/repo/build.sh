#!/usr/bin/env bash
if true
  echo "Going to Paris"
fi
