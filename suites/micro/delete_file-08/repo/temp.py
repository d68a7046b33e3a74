check the garden
