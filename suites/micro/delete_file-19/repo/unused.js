plan the invoice
