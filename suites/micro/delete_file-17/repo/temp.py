send the workshop
