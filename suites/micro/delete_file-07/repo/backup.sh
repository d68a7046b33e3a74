fix the workshop
