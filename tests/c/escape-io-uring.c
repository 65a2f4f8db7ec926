/* escape-io-uring MARKER: creates the file MARKER with an IORING_OP_OPENAT
 * submitted through a raw io_uring (io_uring_setup, the rings mapped with
 * mmap, io_uring_enter), whose operations never pass through seccomp.
 * Prints what the ring setup or the operation returned. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    int ring = (int)syscall(SYS_io_uring_setup, 4, &params);
    if (ring < 0) {
        printf("io_uring_setup: %s\n", strerrorname_np(errno));
        return 0;
    }
    size_t sq_size = params.sq_off.array + params.sq_entries * sizeof(unsigned);
    size_t cq_size = params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe);
    char *sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
    char *cq = mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
    struct io_uring_sqe *sqes = mmap(NULL, params.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                                     MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
    if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
        printf("mmap: %s\n", strerrorname_np(errno));
        return 1;
    }
    unsigned *sq_tail = (unsigned *)(sq + params.sq_off.tail);
    unsigned *sq_mask = (unsigned *)(sq + params.sq_off.ring_mask);
    unsigned *sq_array = (unsigned *)(sq + params.sq_off.array);
    unsigned index = *sq_tail & *sq_mask;
    struct io_uring_sqe *sqe = &sqes[index];
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_OPENAT;
    sqe->fd = AT_FDCWD;
    sqe->addr = (unsigned long)argv[1];
    sqe->open_flags = O_CREAT | O_WRONLY | O_CLOEXEC;
    sqe->len = 0644;
    sq_array[index] = index;
    __atomic_store_n(sq_tail, *sq_tail + 1, __ATOMIC_RELEASE);
    long submitted = syscall(SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
    if (submitted < 0) {
        printf("io_uring_enter: %s\n", strerrorname_np(errno));
        return 0;
    }
    unsigned *cq_head = (unsigned *)(cq + params.cq_off.head);
    unsigned *cq_mask = (unsigned *)(cq + params.cq_off.ring_mask);
    struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + params.cq_off.cqes);
    struct io_uring_cqe *cqe = &cqes[*cq_head & *cq_mask];
    printf("openat through the ring returned %s\n", cqe->res >= 0 ? "a descriptor" : strerrorname_np(-cqe->res));
    return 0;
}
