def evaluate(p):
    return {"t": p["a"] * 10 + p["b"] + (1 if p["c"] == "x" else 2)}
