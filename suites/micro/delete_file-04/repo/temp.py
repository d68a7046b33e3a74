sign the report
