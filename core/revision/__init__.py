"""core/revision"""
