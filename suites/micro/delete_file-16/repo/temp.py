pay the review
