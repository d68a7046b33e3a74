update the report
