water the review
